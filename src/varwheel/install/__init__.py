"""varwheel.install"""
