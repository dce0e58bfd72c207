"""The run record's shared vocabulary (flags, how, origin) and its one reader, used by every stage that reads it."""
