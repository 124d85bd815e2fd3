-- Records one request of a principal for an action and answers how many there were in the
-- last minute and today, as {minute, today}. One script, so that a decision costs L08 one
-- Redis command (a MULTI/EXEC pipeline of six cost more than the Cedar evaluation itself).
--
-- KEYS[1]  the minute: a sorted set of requests scored by their time (seconds)
-- KEYS[2]  today's counter
-- ARGV[1]  now (seconds, as text)           ARGV[2]  now minus 60 seconds (as text)
-- ARGV[3]  a member naming this request     ARGV[4]  today's counter's life (seconds)
-- Times come as text from the caller so that no float is rounded by Lua on the way.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
local minute = redis.call('ZCARD', KEYS[1])
redis.call('EXPIRE', KEYS[1], 61)
local today = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {minute, today}
