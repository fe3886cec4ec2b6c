-- Notes that a subject's sessions may end as early as a given instant, for the sweep to look then: the subjects due
-- are a sorted set scored by that instant, beside a version per subject that every note moves on, so that a sweep
-- that looked before this note never drops the subject after it (due-settle.lua).
-- KEYS[1]  the subjects due   KEYS[2]  their versions (a hash)
-- ARGV[1]  the subject's store name   ARGV[2]  the instant

redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
