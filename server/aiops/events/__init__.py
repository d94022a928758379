"""Events: the persisted log every change is written to, and the bus that fans them out."""
