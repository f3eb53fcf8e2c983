"""core/categories"""
