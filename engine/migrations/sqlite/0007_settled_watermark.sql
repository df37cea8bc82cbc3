-- The modified-on value up to which a change feed is known to be read whole: a run that
-- started long enough after it (twice the overlap) saw every record at or before it, so
-- the next run need not read the overlap window again.
alter table watermark add column settled integer;
