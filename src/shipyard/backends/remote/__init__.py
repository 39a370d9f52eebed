"""Stores that speak to a Shipyard server over HTTP (client mode, ``tracking_uri=http://...``)."""
