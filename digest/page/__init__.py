"""Page: the day's digest, the archive index, the Atom feed and the survey, written atomically."""
