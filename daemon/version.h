#ifndef RD_VERSION_H
#define RD_VERSION_H
#define REACHD_VERSION "0.1.0"
#endif
