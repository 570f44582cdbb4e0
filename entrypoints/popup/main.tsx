import { render } from 'preact';
import { Popup } from '../../components/extension/popup';
import '../../components/app/styles.css';

render(<Popup />, document.getElementById('root')!);
