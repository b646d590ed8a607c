// The console's progressive enhancements. Every page works without them; each module
// finds its elements by data- attributes and does nothing on a page without them.
import { confirmForms } from './confirm.js';
import { copyButtons } from './copy.js';
import { uploadForms } from './upload.js';
import { liveNouns, liveLists } from './live.js';
import { repeatInputs } from './repeat.js';

confirmForms(document);
copyButtons(document);
uploadForms(document);
liveNouns(document);
liveLists(document);
repeatInputs(document);
