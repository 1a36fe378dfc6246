"""A local stand-in for the AWS side of the Product Reviews API.

- `emulator`: moto server on 127.0.0.1 (plus `moto_fixes` for operations moto lacks),
  managed through a pid/port file in a state directory.
- `gateway`: serves the REST API deployed into the emulator, running the deployed
  Lambda code in warm worker processes (`deployment`, `proxy_events`, `workers`);
  its HTTP side (`gateway_http`, `http_framing`) and its own answers
  (`gateway_responses`) follow API Gateway's.

Command line: `python -m localaws --help`.
"""
