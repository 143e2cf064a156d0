"""X12 5010 engines (pure; no Django): reading interchanges, writing 837P claims and 270
eligibility requests, checking 837P files, reading 271, 835 and 999/277CA answers."""
