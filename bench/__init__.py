"""`make bench`: what Courier costs per operation on AWS, against the fewest calls the
protocol permits and a naive baseline; cold imports; the local stack's throughput.

Results go to bench/results/ (REPORT.md, PNG plots, and results.json for re-runs).
"""

BODY = {"text": "Running ten minutes late, order me a flat white please"}  # every bench message
