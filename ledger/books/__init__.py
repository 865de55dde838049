"""The books: the ledger and its one verb :func:`ledger.books.book.post`, accounts and
the chart of accounts, periods and 结账, corrections, and the statements' figures."""
