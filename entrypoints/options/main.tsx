import { render } from 'preact';
import { OptionsPage } from '../../components/extension/options-page';
import '../../components/app/styles.css';

render(<OptionsPage />, document.getElementById('root')!);
