"""varwheel.lock"""
