-- The members of a tag whose entries have not expired yet.
-- KEYS[1]  the tag's sorted set (see tag-add.lua)
-- Returns the members, "<write id>:<key>".

return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ms(now_ms()), '+inf')
