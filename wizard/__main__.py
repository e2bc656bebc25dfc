from wizard.cli import program

program()
