"""Real third-party rerank servers under test (a package, so its server fixture can be package-scoped)."""
