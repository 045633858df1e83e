"""Not built yet."""
from gemma_kit.core.console import UserError

EPILOG = None


def add_arguments(parser):
    pass


def run(settings, args):
    raise UserError("The 'download_model' step is not built yet in this version of the kit.",
                    "Update the kit (git pull) to get it.")
