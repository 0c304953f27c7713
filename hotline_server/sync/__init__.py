"""Server side of SYNC.md: the push transaction, the applier registry, the pull query."""
