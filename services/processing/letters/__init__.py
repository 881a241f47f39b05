"""Official letters, a context of its own inside processing: rules, use cases, ports, storage,
routes and the monthly report's letters section."""
