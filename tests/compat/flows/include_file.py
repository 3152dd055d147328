"""IncludeFile as text and as binary."""

from metaflow import FlowSpec, IncludeFile, step


class IncludeFileFlow(FlowSpec):
    notes = IncludeFile("notes", help="text file", default="data/notes.txt")
    blob = IncludeFile("blob", help="binary file", is_text=False, default="data/blob.bin")

    @step
    def start(self):
        self.notes_lines = self.notes.splitlines()
        self.notes_type = type(self.notes).__name__
        self.blob_type = type(self.blob).__name__
        self.blob_len = len(self.blob)
        self.next(self.end)

    @step
    def end(self):
        self.notes_again = self.notes
        self.blob_hex = self.blob.hex()


if __name__ == "__main__":
    IncludeFileFlow()
