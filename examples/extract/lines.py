"""Reference 000's run module, as that document gives it, with a harmless done().

    runyard run examples/extract/lines.py --instances examples/extract/data/*.txt --workers 2
"""
import random
import os

def run(instance, save, state):
    lines = open(instance).readlines()
    
    num_line_to_extract = int(state) if state != "" else 10
    
    with open("lines.txt", "a") as data_file:
    
        while num_line_to_extract > 0:
            data_file.write(random.choice(lines))
            
            num_line_to_extract -= 1
            save(str(num_line_to_extract))
    
# optional
def done():
    # reference 000 suspends the computer here; we only leave a note
    with open("done.txt", "a") as note:
        note.write("done\n")
