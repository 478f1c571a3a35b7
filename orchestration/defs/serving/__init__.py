"""Serving: the published serving file and Parquet, and the HTML report read from them."""
