"""core/tags"""
