"""Shared pieces of the live-server benchmarks (`bench/harness.py`, `bench/soak.py`).

- `server`: start and stop `carebench serve` (gunicorn) and `carebench hl7 listen` the production
  way, on this machine only;
- `prepare`: the untimed set-up run inside Django before the server starts (sample patients,
  walk-in visits, free slots, lab orders, a bearer token), written to a JSON plan;
- `users`: the locust user classes, one per timed operation, and the soak's mixed users;
- `phases`: runs one operation with locust as a library and keeps every response time;
- `mllp`: a small MLLP client for the ORU^R01 results;
- `memory`: samples the resident memory of the server's processes with psutil;
- `results`: percentiles, rows, the machine, and the JSON and Markdown writers.
"""
