"""varwheel.resolve"""
