"""netpersona's benchmarks; run ``python -m benchmarks [NAME ...]``."""
