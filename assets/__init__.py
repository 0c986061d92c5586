"""The app's data files (lessons, icons), installed as the package attnstudio.assets."""
