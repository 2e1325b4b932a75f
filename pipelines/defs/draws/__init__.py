"""The verifiable, coordinated draw (ssj-prn-v1): docs/draws.md, docs/contract.md §6."""
