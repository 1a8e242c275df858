"""Recordings: write Samples as CSV (a summary row per interval) or JSONL (everything), read them
back, and read the rqlen.bt CSV. One module per format; `load` picks the reader for a file.
"""

from scxtop.recording.common import RecordError, iso_time, recording_lines
from scxtop.recording.csvfile import CsvWriter, csv_header, csv_row, read_csv
from scxtop.recording.jsonl import JsonlWriter, read_jsonl, sample_from_json, sample_to_json
from scxtop.recording.load import Recording, load_recording
from scxtop.recording.rqlen import read_rqlen

__all__ = [
    "CsvWriter", "JsonlWriter", "RecordError", "Recording", "csv_header", "csv_row", "iso_time",
    "load_recording", "read_csv", "read_jsonl", "read_rqlen", "recording_lines", "sample_from_json",
    "sample_to_json",
]
