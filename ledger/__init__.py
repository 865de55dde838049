"""The domain: the rules of the studio fund and the services that apply them.

Grouped by capability, each package with its rules (pure functions and values),
its services (they work inside the caller's unit of work and never commit) and
the store protocol those services need:

- :mod:`ledger.books`: the double-entry ledger (:func:`ledger.books.book.post`),
  accounts and the chart, periods and 结账, corrections, the statements' figures;
- :mod:`ledger.registry`: studios, people, memberships, cycles and the policy;
- :mod:`ledger.funds`: the year's appropriation, matching receipts and expenses;
- :mod:`ledger.batches`: entitlements and the stipend batch (the aggregate in
  :mod:`ledger.batches.batch`, its services in :mod:`ledger.batches.disbursement`);
- :mod:`ledger.tax`: 劳务报酬 withholding;
- :mod:`ledger.workbooks`: the edge where Excel is read and written; nothing else in
  the domain imports it, or openpyxl, SQL or HTTP (``lint-imports`` checks).

Beside them, what every capability shares: :mod:`ledger.program` (today and the
stores), :mod:`ledger.users` and :mod:`ledger.permissions` (who may act), and
:mod:`ledger.money`, :mod:`ledger.clock`, :mod:`ledger.codes`, :mod:`ledger.errors`.
"""
