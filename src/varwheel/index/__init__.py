"""varwheel.index"""
