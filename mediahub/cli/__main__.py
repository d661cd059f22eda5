from mediahub.cli.app import run

run()
