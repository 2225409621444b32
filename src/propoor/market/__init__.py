"""The poverty-alleviation marketplace: sellers, certified products, traceable lots,
checkout split by seller, signed payment notifications, settlement and income ledger."""
