from varwheel.cli.main import run

run()
