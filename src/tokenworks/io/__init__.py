"""tokenworks.io: the edge where users' files become specs.

The pydantic schemas of scenario files (``scenario``), economics inputs (``economics``) and
user measurements (``measurements``), the trace readers (``traces``) and calibration files
(``calibration``) live here and nowhere else; below this package nothing reads a user's file
or sees pydantic. Packaged catalogs are read by the catalog layer (``tokenworks.catalog``).
"""
