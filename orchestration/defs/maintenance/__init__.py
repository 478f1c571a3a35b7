"""Maintenance: the warehouse file, compacted after publications and every week."""
