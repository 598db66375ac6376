"""Reading media: probing streams and running ffmpeg."""

# File name endings taken for video when a folder is searched (the studio's uploads, `batch`).
MEDIA_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".ts", ".mts", ".mpg", ".mpeg",
                            ".wmv", ".flv"})
