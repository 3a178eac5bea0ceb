"""Clients of the services the console calls, one module per service, all on `base.ServiceClient`."""
