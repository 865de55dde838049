"""The registry: studios, people and memberships (:mod:`ledger.registry.roster`), their
cycles, the policy of each year, and the services that save and read them."""
