"""``studio-ledger demo``: the program's first cycle played on a fresh database
(:mod:`demo.story`). It drives the ledger's services and jobs the way operators
would; nothing in the ledger, the service or the console depends on it."""
