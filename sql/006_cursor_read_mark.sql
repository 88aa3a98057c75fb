-- 006: how far a collector's lines were read and counted, beside the
-- position it resumes from. A maillog collector resumes at the first line of
-- the oldest mail still in the MTA's queue, behind what it had read: the
-- lines read again after a restart are not counted twice in lines_accepted /
-- lines_rejected. 0, 0, 0 (a row written before this migration): no mark.
ALTER TABLE reach.cursors
    ADD COLUMN read_dev    bigint NOT NULL DEFAULT 0,
    ADD COLUMN read_ino    bigint NOT NULL DEFAULT 0,
    ADD COLUMN read_offset bigint NOT NULL DEFAULT 0;
