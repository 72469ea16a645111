/** A checkpoint or weights file that cannot be read as a YOLO model; `file` names it. */
export class CheckpointError extends Error {
  /** Always `"CheckpointError"`. */
  override name = "CheckpointError";
  /** The file (or `"<bytes>"`) the error is about. */
  file: string;
  /** An error about `file` with a one-line `message`. */
  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}

/** A model description (YAML) that cannot be built; `file` names it. */
export class ModelConfigError extends Error {
  /** Always `"ModelConfigError"`. */
  override name = "ModelConfigError";
  /** The YAML file (or `"<yaml>"`) the error is about. */
  file: string;
  /** An error about `file` with a one-line `message`. */
  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}

/** A dataset YAML, image or label that cannot be used; `file` names it. */
export class DatasetError extends Error {
  /** Always `"DatasetError"`. */
  override name = "DatasetError";
  /** The file the error is about. */
  file: string;
  /** An error about `file` with a one-line `message`. */
  constructor(file: string, message: string) {
    super(message);
    this.file = file;
  }
}
