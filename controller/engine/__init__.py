"""The asyncio machinery: queue, stores, PLEG, reconciler, executor. Talks out only through ports."""
