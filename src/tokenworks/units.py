"""Unit conversion constants: the only place display units meet SI.

Inside tokenworks every quantity is SI (seconds, bytes, FLOPs, watts, joules, US dollars)
with the unit in its name (STYLE.md section 3). Catalog files transcribe numbers as their
sources print them (TB/s, TFLOPS, GB); they are converted once, at load, with these constants.
"""

from __future__ import annotations

# Decimal (SI) byte prefixes: datasheets quote memory bandwidth and HBM capacity in these.
KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12
PB = 1e15

# Binary prefixes: engines (vLLM, TensorRT-LLM) report memory in GiB.
KIB = 2.0**10
MIB = 2.0**20
GIB = 2.0**30
TIB = 2.0**40

# Throughput prefixes.
GIGA = 1e9
TERA = 1e12
PETA = 1e15
EXA = 1e18

# Network links are quoted in bits per second.
BITS_PER_BYTE = 8.0
GBIT = 1e9  # bits

# Time.
MS = 1e-3
US = 1e-6
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
YEAR = 365.0 * DAY  # ASSUMPTION: a year is 365 days (8,760 h) for all annualised money and energy.

# Energy and power.
KW = 1e3
MW = 1e6
GW = 1e9
KWH = 3.6e6  # joules per kilowatt-hour
MWH = 3.6e9

# Money.
MILLION = 1e6
BILLION = 1e9
TRILLION = 1e12
