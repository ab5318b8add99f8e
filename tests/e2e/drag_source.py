#!/usr/bin/python3
"""A tiny GTK window that offers files as a drag source (text/uri-list), so xdotool can drag
real files onto the Telos window under Xvfb: the drop arrives through the OS's native
drag-and-drop path, exactly as from a file manager. Test tooling.

Usage: drag_source.py X Y FILE...   (the window is placed with its top-left at X, Y)
Prints "READY" once the window is shown, and "DRAGGED" when a drop target took the data.
"""
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402


def main():
    x, y = int(sys.argv[1]), int(sys.argv[2])
    uris = [GLib.filename_to_uri(p, None) for p in sys.argv[3:]]
    win = Gtk.Window(title="telos-drag-source")
    win.set_decorated(False)
    win.set_default_size(120, 80)
    win.move(x, y)
    box = Gtk.EventBox()
    box.add(Gtk.Label(label="drag me"))
    win.add(box)
    box.drag_source_set(
        Gdk.ModifierType.BUTTON1_MASK,
        [Gtk.TargetEntry.new("text/uri-list", 0, 0)],
        Gdk.DragAction.COPY,
    )

    def on_get(_widget, _ctx, data, _info, _time):
        data.set_uris(uris)
        print("DRAGGED", flush=True)

    box.connect("drag-data-get", on_get)
    win.connect("destroy", Gtk.main_quit)
    win.show_all()
    GLib.idle_add(lambda: print("READY", flush=True) and False)
    Gtk.main()


if __name__ == "__main__":
    main()
