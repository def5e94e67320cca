"""The three Lambda entry points (extractor, transformer, loader) and the runs they drive.

`{extractor,transformer,loader}.py` parse the event and call a run;
`{extract,transform,load}_run.py` read and write the run's data in S3 and
run history around the pure cores of runtime/stages/; `stage_run.py` is the
scaffold all three share (log keys, run keys, config, errors).
"""
