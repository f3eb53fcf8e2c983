"""core/indexing"""
